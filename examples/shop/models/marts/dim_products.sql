with products as (

    select * from {{ ref('stg_products') }}

),

sales as (

    select
        product_id,
        count(distinct order_id) as orders_containing,
        sum(quantity) as units_sold,
        sum(line_amount_cents) as gross_sales_cents
    from {{ ref('int_order_items_joined') }}
    group by product_id

)

select
    products.*,
    coalesce(sales.orders_containing, 0) as orders_containing,
    coalesce(sales.units_sold, 0) as units_sold,
    coalesce(sales.gross_sales_cents, 0) as gross_sales_cents,
    rank() over (
        partition by products.category
        order by coalesce(sales.gross_sales_cents, 0) desc
    ) as rank_in_category
from products
left join sales on products.product_id = sales.product_id
