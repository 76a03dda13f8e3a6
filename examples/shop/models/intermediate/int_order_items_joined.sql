{{ config(materialized='ephemeral') }}

-- Order lines decorated with catalogue attributes. Ephemeral: inlined as a CTE
-- into every model that references it.
with order_items as (

    select * from {{ ref('stg_order_items') }}

),

products as (

    select product_id, product_name, category, price_cents as list_price_cents
    from {{ ref('stg_products') }}

)

select
    order_items.*,
    products.product_name,
    products.category,
    products.list_price_cents,
    case
        when order_items.unit_price_cents < products.list_price_cents then true
        else false
    end as is_discounted
from order_items
inner join products using (product_id)
