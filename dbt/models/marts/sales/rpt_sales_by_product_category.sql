{#- Q1 product analysis: one row per category and subcategory, all orders whatever the status. -#}
with

sales as (

    select * from {{ ref('fct_sales') }}

),

products as (

    select * from {{ ref('dim_products') }}

),

final as (

    select
        coalesce(products.category_name, 'Uncategorized') as category_name,
        coalesce(products.subcategory_name, 'Uncategorized') as subcategory_name,
        count(distinct sales.sales_order_id) as order_count,
        cast(sum(sales.order_quantity) as {{ dbt.type_bigint() }}) as units_sold,
        sum(sales.revenue) as revenue,
        sum(sales.gross_revenue - sales.revenue) as discount_amount,
        count(distinct sales.product_id) as product_count

    from sales
    inner join products
        on sales.product_id = products.product_id
    group by 1, 2

)

select * from final
